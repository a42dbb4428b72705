trait Shape {
    async fn area(&self) -> f64;
    async fn describe(&self) -> String {
        format!("area {}", self.area().await)
    }
}

struct Square(f64);
struct Circle(f64);

impl Shape for Square {
    async fn area(&self) -> f64 {
        self.0 * self.0
    }
}

impl Shape for Circle {
    async fn area(&self) -> f64 {
        3.14 * self.0 * self.0
    }
}

async fn total(s: &Square, c: &Circle) -> f64 {
    s.area().await + c.area().await
}
